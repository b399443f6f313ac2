"""The bars of a CODE128 symbol: what `app.domain.code128` plans, drawn as dark and light modules.

`PATTERNS[v]` is symbol character `v` as six widths (bar, space, bar, space, bar, space) in modules,
eleven modules in all; the stop character has a seventh, a final bar of two (ISO/IEC 15417, table 1).
Values: code set B writes `ord(c) - 32`; code set C writes a pair of digits as its number; 99
switches to C, 100 to B; 104 starts in B, 105 in C. The check character is the start's value plus
each following character's value times its position, modulo 103.
"""

from __future__ import annotations

from app.domain.code128 import QUIET_ZONE_MODULES, Code128, CodeSet

# fmt: off
PATTERNS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
# fmt: on
SWITCH = {CodeSet.C: 99, CodeSet.B: 100}
START = {CodeSet.B: 104, CodeSet.C: 105}
STOP = 106


def symbol_values(code: Code128) -> tuple[int, ...]:
    """Every symbol character of `code`, start to stop, the check character included."""
    values = [START[code.segments[0].code_set]]
    for index, segment in enumerate(code.segments):
        if index:
            values.append(SWITCH[segment.code_set])
        if segment.code_set is CodeSet.C:
            values.extend(int(segment.text[i : i + 2]) for i in range(0, len(segment.text), 2))
        else:
            values.extend(ord(char) - 32 for char in segment.text)
    values.append((values[0] + sum(position * value for position, value in enumerate(values[1:], 1))) % 103)
    values.append(STOP)
    return tuple(values)


def modules(code: Code128) -> tuple[bool, ...]:
    """The symbol as modules, True for a bar, with its quiet zone on each side; `code.modules` long."""
    out = [False] * QUIET_ZONE_MODULES
    for value in symbol_values(code):
        for index, width in enumerate(PATTERNS[value]):
            out.extend([index % 2 == 0] * int(width))
    out.extend([False] * QUIET_ZONE_MODULES)
    return tuple(out)
