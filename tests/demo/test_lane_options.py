"""The lanes demo's options are checked before anything starts, each refusal one sentence."""

from __future__ import annotations

import pytest

from app.demo.lane_options import DEFAULT_SALES, lanes_options
from app.domain.errors import ValidationFailed


def test_lanes_between_two_and_eight_with_headless_take_the_default_sales_per_lane() -> None:
    assert lanes_options(2, sales=None, headless=True).sales == DEFAULT_SALES
    assert lanes_options(8, sales=40, headless=True).lanes == 8


@pytest.mark.parametrize(
    ("lanes", "sales", "headless", "in_process", "sale_every", "words"),
    [
        (3, None, False, False, False, "--lanes runs the headless demo: add --headless."),
        (1, None, True, False, False, "--lanes must be between 2 and 8."),
        (9, None, True, False, False, "--lanes must be between 2 and 8."),
        (3, 0, True, False, False, "--sales must be between 1 and 5,000 per lane with --lanes."),
        (3, None, True, True, False, "The lanes demo runs the sandbox as a process of its own"),
        (3, None, True, False, True, "--sale-every paces the kiosk demo"),
    ],
)
def test_a_bad_option_is_refused_in_one_sentence(
    lanes: int, sales: int | None, headless: bool, in_process: bool, sale_every: bool, words: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        lanes_options(lanes, sales=sales, headless=headless, in_process_sandbox=in_process, sale_every=sale_every)
    assert refused.value.message.startswith(words)
    assert "\n" not in refused.value.message


def test_the_hubs_database_is_a_database_url() -> None:
    url = "postgresql+psycopg://receiptdesk@127.0.0.1:5432/hub"
    assert lanes_options(3, sales=None, headless=True, hub_database=url).hub_database == url
    with pytest.raises(ValidationFailed) as refused:
        lanes_options(3, sales=None, headless=True, hub_database="db.internal")
    assert refused.value.message.startswith("--hub-database takes a database URL")
