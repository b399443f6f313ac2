"""Files the application loads at run time, shipped in the wheel as the package `app.resources`.

`receiptdesk.svg` is the app icon's source; `receiptdesk.png` (256 px) and `receiptdesk.ico` (16 to
256 px) are made from it by `make icons`. `chevron-down.svg` is the drop-down arrow of combo boxes and
date pickers. `kiosk.qss` is the kiosk's Qt style sheet, with `$NAME` standing for the palette colours
of `app.ui.theme` and `$ICONS` for this folder. Code reads them through `app.support.package_data`.
"""
