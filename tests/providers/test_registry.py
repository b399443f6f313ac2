"""The whole registry keeps the adapter contract: every shipped adapter is driven by a contract case,
declares its capabilities as data, and refuses to start without a credential, naming it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError
from app.providers.registry import ADAPTERS
from tests.providers.test_contract import ADAPTER_CASES
from tests.providers.test_contract_chat_crm import CHAT_CRM_CASES
from tests.providers.test_contract_email import EMAIL_CASES
from tests.providers.test_contract_oauth import OAUTH_CASES


def _case_class(case: Any) -> type[Any]:
    inner = getattr(case, "case", case)
    return inner.cls  # type: ignore[no-any-return]


CASES = [*ADAPTER_CASES, *EMAIL_CASES, *OAUTH_CASES, *CHAT_CRM_CASES]


def test_every_registered_adapter_runs_the_contract() -> None:
    covered = {_case_class(case).provider_id for case in CASES}
    assert covered == set(ADAPTERS), f"adapters without a contract case: {set(ADAPTERS) - covered}"


@pytest.mark.parametrize("provider_id", sorted(ADAPTERS))
def test_capabilities_and_fields_are_declared_as_data(provider_id: str) -> None:
    cls = ADAPTERS[provider_id]
    assert cls.provider_id == provider_id and cls.display_name
    assert isinstance(cls.capabilities.channel, Channel)
    assert cls.secret_fields, "every provider needs at least one credential"
    assert {f.name for f in cls.secret_fields}.isdisjoint({f.name for f in cls.setting_fields})


@pytest.mark.parametrize("provider_id", sorted(ADAPTERS))
async def test_a_missing_secret_fails_at_construction_by_name(provider_id: str) -> None:
    case = next(c for c in CASES if _case_class(c).provider_id == provider_id)
    inner = getattr(case, "case", case)
    missing = ADAPTERS[provider_id].secret_fields[0].name
    secrets = {k: v for k, v in inner.secrets.items() if k != missing}
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigurationError) as err:
            ADAPTERS[provider_id].create(http, inner.settings, secrets)
    assert missing in err.value.message
