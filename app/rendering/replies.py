"""The store's automatic answers to a customer's text, in each language (one SMS segment each where it can)."""

from __future__ import annotations

from typing import Final

from app.domain.channels import Language

_REPLIES: Final[dict[Language, dict[str, str]]] = {
    Language.EN: {
        "stopped": "{store}: you will get no more texts from us. Reply START to get them again.",
        "started": "{store}: you will get your receipts by text again. Reply STOP to stop, HELP for help.",
        "help": "{store}: e-receipts by text. Questions? Call {phone}. Reply STOP to stop.",
        "help_no_phone": "{store}: e-receipts by text. Ask at the store for help. Reply STOP to stop.",
        "code_used": "{store}: that receipt code was already used. Ask the cashier for a new one.",
        "code_expired": "{store}: that receipt code has expired. Ask the cashier for a new one.",
        "code_unknown": "{store}: we do not know that receipt code. Check it and send it again.",
    },
    Language.ES: {
        "stopped": "{store}: no recibirá más mensajes nuestros. Responda START para recibirlos de nuevo.",
        "started": "{store}: volverá a recibir sus recibos por mensaje. Responda STOP para dejarlos, HELP para ayuda.",
        "help": "{store}: recibos por mensaje de texto. ¿Preguntas? Llame al {phone}. Responda STOP para dejarlos.",
        "help_no_phone": "{store}: recibos por mensaje de texto. Pida ayuda en la tienda. Responda STOP para dejarlos.",
        "code_used": "{store}: ese código de recibo ya se usó. Pida uno nuevo en la caja.",
        "code_expired": "{store}: ese código de recibo ha vencido. Pida uno nuevo en la caja.",
        "code_unknown": "{store}: no conocemos ese código de recibo. Revíselo y envíelo de nuevo.",
    },
}


def reply(key: str, language: Language | None, **values: str) -> str:
    """The answer `key` in `language` (English when unknown), with `store` and `phone` filled in."""
    words = _REPLIES.get(language or Language.EN, _REPLIES[Language.EN])
    return words.get(key, _REPLIES[Language.EN][key]).format(**values)
