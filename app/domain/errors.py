"""The one exception tree of ReceiptDesk.

Every error a person may see derives from `ReceiptDeskError` and carries a message written for
them. Faces (UI, API, CLI) translate these into a dialog, an HTTP status or one line on stderr.
"""

from __future__ import annotations


class ReceiptDeskError(Exception):
    """Root of every error ReceiptDesk raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(ReceiptDeskError):
    """The installation is set up wrongly (settings file, missing credential, keyring)."""


class Unavailable(ReceiptDeskError):
    """Something ReceiptDesk needs cannot be reached now: the database server, a display, a port."""


class InstanceBusy(ReceiptDeskError):
    """Another ReceiptDesk process holds the data folder (`holder` says which, when it is known)."""

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class ValidationFailed(ReceiptDeskError):
    """Input from outside is malformed or inconsistent; nothing was changed.

    `field` is a dotted path into the input (``items.2.line_total``) when one field is to blame.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CardDataRejected(ValidationFailed):
    """The input holds something that looks like a full card number; it is never stored."""


class SaleConflict(ReceiptDeskError):
    """A sale id that is already recorded arrived again with different content."""


class SignatureRejected(ReceiptDeskError):
    """A request that claims to come from a provider or a platform is not provably from it.

    A bad or missing signature, a stale timestamp, or an endpoint whose verifying secret is not set
    up. Nothing was recorded; faces answer a bare 401 with no detail for whoever is probing.
    """


class NotFound(ReceiptDeskError):
    """The thing asked for does not exist."""


class ProviderError(ReceiptDeskError):
    """A delivery provider refused or failed a request."""

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class TransientProviderError(ProviderError):
    """Worth retrying later: timeouts, connection errors, 408/429/5xx.

    `retry_after` is the provider's own wait hint in seconds, when it gave one. `ambiguous` is
    true when the request may have been accepted (a timeout after the request was sent).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class PermanentProviderError(ProviderError):
    """Retrying the same request cannot succeed: auth, validation, refused recipient."""


class UnsupportedFeature(PermanentProviderError):
    """The message asks for something this provider cannot express."""
