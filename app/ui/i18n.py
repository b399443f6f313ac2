"""Every string the customer-facing screen shows, in English and Spanish, from this one catalogue.

Staff windows (cashier, manager, settings) are in English. A key missing from a language falls
back to English; placeholders use `str.format` names.
"""

from __future__ import annotations

from typing import Final

from app.domain.channels import Language

EN: Final[dict[str, str]] = {
    "welcome_title": "Welcome to {store}",
    "welcome_body": "Your receipt options appear here after you pay.",
    "language_toggle": "Español",
    "language_toggle_name": "Cambiar a español",
    "how": "How would you like your receipt?",
    "total": "Total {total}",
    "choice_email": "Email",
    "choice_sms": "Text message",
    "choice_both": "Email and text",
    "choice_whatsapp": "WhatsApp",
    "choice_print": "Print",
    "choice_none": "No receipt",
    "email_title": "Type your email address",
    "phone_title": "Type your mobile number",
    "email_placeholder": "name@example.com",
    "phone_placeholder": "(555) 555-0123",
    "next": "Next",
    "back": "Back",
    "invalid_email": "That does not look like an email address. Please check it.",
    "invalid_phone": "That does not look like a US mobile number. Please check it.",
    "did_you_mean": "Did you mean {address}?",
    "use_suggestion": "Yes, use {address}",
    "welcome_back": "Welcome back, {name}!",
    "welcome_back_anonymous": "Welcome back!",
    "confirm_title": "Is this right?",
    "send_to_email": "We'll send it to {contact}",
    "send_to_sms": "We'll text it to {contact}",
    "send_to_whatsapp": "We'll send it on WhatsApp to {contact}",
    "change": "Change",
    "not_me": "Not me",
    "remember": "Remember my choice for next time",
    "send": "Send my receipt",
    "agree_send": "I agree, send it",
    "consent_heading": "Text message consent",
    "sms_consent": (
        "By tapping \u201cI agree, send it\u201d you ask {store} to text this receipt to the number above. "
        "One message per receipt you ask for, no marketing. Message and data rates may apply. "
        "Reply STOP to stop or HELP for help."
    ),
    "whatsapp_consent_heading": "WhatsApp consent",
    "whatsapp_consent": (
        "By tapping \u201cI agree, send it\u201d you ask {store} to send this receipt on WhatsApp to the number "
        "above. One message per receipt you ask for, no marketing. Data rates may apply. "
        "Tell the cashier at any time if you want no more WhatsApp receipts."
    ),
    "done_sent": "Thank you! Your receipt is on its way.",
    "done_print": "Thank you! Please take your printed receipt from the cashier.",
    "done_none": "Thank you! No receipt this time.",
    "auto_sent": "Your receipt is on its way to {contacts}.",
    "and": " and ",
    "sending": "Sending\u2026",
    "send_failed": "Sorry, that did not work. Please ask the cashier for help.",
    "key_clear": "Clear",
    "key_backspace": "Delete",
    "key_backspace_name": "Delete the last character",
    "keyboard_name": "On-screen keyboard",
    "keypad_name": "Phone number keypad",
    # the customer screen: one tap for a contact on file, and the typo question
    "quick_email": "Email to {contact}",
    "quick_sms": "Text to {contact}",
    "quick_sms_consent": (
        "By tapping \u201cText to {contact}\u201d you ask {store} to text this receipt to that number. "
        "One message per receipt you ask for, no marketing. Message and data rates may apply. "
        "Reply STOP to stop or HELP for help."
    ),
    "keep_typed": "No, {address} is right",
    # The consent page a manager's resend by text asks for on the customer screen.
    "resend_consent_title": "The store would like to text you this receipt",
    "resend_decline": "No, thanks",
    # text-in: the QR code on the choice screen, and its words for a phone that cannot scan
    "text_in_scan": "Scan to get your receipt by text",
    "text_in_manual": "or text {body} to {number}",
    "text_in_code_name": "QR code: opens a text message to {number} that says {body}",
}

ES: Final[dict[str, str]] = {
    "welcome_title": "Bienvenido a {store}",
    "welcome_body": "Las opciones de su recibo aparecen aquí después de pagar.",
    "language_toggle": "English",
    "language_toggle_name": "Switch to English",
    "how": "¿Cómo quiere recibir su recibo?",
    "total": "Total {total}",
    "choice_email": "Correo electrónico",
    "choice_sms": "Mensaje de texto",
    "choice_both": "Correo y texto",
    "choice_whatsapp": "WhatsApp",
    "choice_print": "Impreso",
    "choice_none": "Sin recibo",
    "email_title": "Escriba su correo electrónico",
    "phone_title": "Escriba su número de celular",
    "email_placeholder": "nombre@ejemplo.com",
    "phone_placeholder": "(555) 555-0123",
    "next": "Siguiente",
    "back": "Atrás",
    "invalid_email": "Eso no parece un correo electrónico. Por favor, revíselo.",
    "invalid_phone": "Eso no parece un número de celular de EE. UU. Por favor, revíselo.",
    "did_you_mean": "¿Quiso decir {address}?",
    "use_suggestion": "Sí, usar {address}",
    "welcome_back": "¡Bienvenido de nuevo, {name}!",
    "welcome_back_anonymous": "¡Bienvenido de nuevo!",
    "confirm_title": "¿Es correcto?",
    "send_to_email": "Lo enviaremos a {contact}",
    "send_to_sms": "Se lo enviaremos por texto al {contact}",
    "send_to_whatsapp": "Se lo enviaremos por WhatsApp al {contact}",
    "change": "Cambiar",
    "not_me": "No soy yo",
    "remember": "Recordar mi elección para la próxima vez",
    "send": "Enviar mi recibo",
    "agree_send": "Acepto, envíelo",
    "consent_heading": "Consentimiento para mensajes de texto",
    "sms_consent": (
        "Al tocar \u201cAcepto, envíelo\u201d usted pide a {store} que le envíe este recibo por mensaje de texto "
        "al número indicado. Un mensaje por cada recibo que pida, sin publicidad. Pueden aplicarse tarifas de "
        "mensajes y datos. Responda STOP para dejar de recibirlos o HELP para obtener ayuda."
    ),
    "whatsapp_consent_heading": "Consentimiento para WhatsApp",
    "whatsapp_consent": (
        "Al tocar \u201cAcepto, envíelo\u201d usted pide a {store} que le envíe este recibo por WhatsApp al "
        "número indicado. Un mensaje por cada recibo que pida, sin publicidad. Pueden aplicarse tarifas de datos. "
        "Dígale al cajero en cualquier momento si ya no desea recibos por WhatsApp."
    ),
    "done_sent": "¡Gracias! Su recibo va en camino.",
    "done_print": "¡Gracias! Por favor, tome su recibo impreso con el cajero.",
    "done_none": "¡Gracias! Esta vez sin recibo.",
    "auto_sent": "Su recibo va en camino a {contacts}.",
    "and": " y ",
    "sending": "Enviando\u2026",
    "send_failed": "Lo sentimos, no funcionó. Por favor, pida ayuda al cajero.",
    "key_clear": "Borrar todo",
    "key_backspace": "Borrar",
    "key_backspace_name": "Borrar el último carácter",
    "keyboard_name": "Teclado en pantalla",
    "keypad_name": "Teclado numérico para el teléfono",
    # the customer screen: one tap for a contact on file, and the typo question
    "quick_email": "Correo a {contact}",
    "quick_sms": "Texto al {contact}",
    "quick_sms_consent": (
        "Al tocar \u201cTexto al {contact}\u201d usted pide a {store} que le envíe este recibo por mensaje de "
        "texto a ese número. Un mensaje por cada recibo que pida, sin publicidad. Pueden aplicarse tarifas de "
        "mensajes y datos. Responda STOP para dejar de recibirlos o HELP para obtener ayuda."
    ),
    "keep_typed": "No, {address} está bien",
    # The consent page a manager's resend by text asks for on the customer screen.
    "resend_consent_title": "La tienda quiere enviarle este recibo por mensaje",
    "resend_decline": "No, gracias",
    # text-in: the QR code on the choice screen, and its words for a phone that cannot scan
    "text_in_scan": "Escanee para recibir su recibo por mensaje de texto",
    "text_in_manual": "o envíe {body} por mensaje al {number}",
    "text_in_code_name": "Código QR: abre un mensaje de texto al {number} que dice {body}",
}

CATALOGUE: Final[dict[Language, dict[str, str]]] = {Language.EN: EN, Language.ES: ES}


def tr(key: str, language: Language, **values: object) -> str:
    """The text of `key` in `language` (English when missing there), with `values` filled in."""
    template = CATALOGUE.get(language, EN).get(key) or EN[key]
    return template.format(**values) if values else template


def other(language: Language) -> Language:
    """The language the toggle switches to."""
    return Language.ES if language is Language.EN else Language.EN
