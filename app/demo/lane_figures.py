"""The lanes demo's figures, from what it noted along the way, and the lines it prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.demo.hub_watch import HubWatch
    from app.demo.lane_story import Outage, Story
    from app.demo.lanes import LaneRun


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile `q` (0..1) of `samples` (0 when there are none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def online_delays(watch: HubWatch, outage: Outage) -> list[float]:
    """Seconds from each sale's acceptance at its lane to its first sight on the hub, leaving out the sales
    the outage held back (the offline lane's, seen on the hub after the cut and rung before it caught up)."""
    delays: list[float] = []
    for lane, rung in watch.rung.items():
        seen = watch.seen[lane]
        for sale_id, accepted in rung.items():
            arrived = seen.get(sale_id)
            if arrived is None:
                continue
            held = lane == outage.lane_id and arrived >= outage.cut_at and accepted <= outage.caught_up_at
            if not held:
                delays.append(arrived - accepted)
    return delays


def latency_ms(delays: list[float]) -> dict[str, float | int]:
    return {
        "sales": len(delays),
        "p50_ms": round(percentile(delays, 0.5) * 1000, 1),
        "p99_ms": round(percentile(delays, 0.99) * 1000, 1),
    }


def figures_of(
    runs: list[LaneRun],
    watch: HubWatch,
    story: Story,
    hub_lanes: list[dict[str, Any]],
    on_hub: dict[str, int],
    ends: dict[str, dict[str, Any]],
    *,
    seconds: float,
    rate: float,
) -> dict[str, Any]:
    s = story.figures
    outage = s.outage
    sales = {run.lane_id: run.sales for run in runs}
    return {
        "lanes": len(runs),
        "sales_per_lane": sales,
        "hub_receipts_per_lane": on_hub,
        "all_on_hub": sales == on_hub,
        "rate_per_lane_per_s": rate,
        "lane_to_hub_online": {**latency_ms(online_delays(watch, outage)), "resolution_ms": watch.every * 1000},
        "preference": {
            "reached_lane_2_s": s.preference_reach_s,
            "lane_2_sent_without_a_tap": s.zero_tap_channels,
        },
        "stop": {
            "texted_to": s.stop_lane,
            "reached_s": s.stop_reach_s,
            "next_sale_channels": s.after_stop_channels,
        },
        "outage": {
            "lane": outage.lane_id,
            "offline_s": round(outage.restored_at - outage.cut_at, 2) if outage.cut_at else 0.0,
            "sales_while_offline": outage.sales_offline,
            "catch_up_records": outage.records_waiting,
            "catch_up_s": round(outage.caught_up_at - outage.restored_at, 2) if outage.restored_at else 0.0,
            "first_push_after_s": round(outage.first_ack_at - outage.restored_at, 2) if outage.restored_at else 0.0,
        },
        "parked": sum(int(lane.get("parked", 0)) for lane in hub_lanes),
        "backlog_at_end": {lane: int(end.get("backlog", -1)) for lane, end in ends.items()},
        "pos_errors": [e for run in runs for e in (run.errors or [])][:5],
        "hub_watch_errors": watch.errors[:5],
        "seconds": round(seconds, 1),
    }


def consistent(f: dict[str, Any]) -> bool:
    """Whether the run went as the demo tells it: every sale on the hub, nothing left behind or refused,
    the customer texted at lane 2 with no tap and not after their STOP."""
    return (
        f["all_on_hub"]
        and not f["pos_errors"]
        and not f["parked"]
        and not any(f["backlog_at_end"].values())
        and "sms" in f["preference"]["lane_2_sent_without_a_tap"]
        and "sms" not in f["stop"]["next_sale_channels"]
    )


def format_lanes_report(f: dict[str, Any]) -> str:
    o, p, st, lat = f["outage"], f["preference"], f["stop"], f["lane_to_hub_online"]
    lines = [
        f"{f['lanes']} lanes and a hub, each its own process; {f['rate_per_lane_per_s']:g} sales/s at each lane",
        *(
            f"  {lane}: {n} sales, {f['hub_receipts_per_lane'].get(lane, 0)} receipts on the hub, "
            f"backlog {f['backlog_at_end'].get(lane)} at the end"
            for lane, n in f["sales_per_lane"].items()
        ),
        f"Every sale on the hub: {'yes' if f['all_on_hub'] else 'NO'}; parked records: {f['parked']}",
        f"Lane to hub while online: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms "
        f"({lat['sales']} sales, seen to within {lat['resolution_ms']:g} ms)",
        f"Texts chosen at lane 1 reached lane 2 in {p['reached_lane_2_s']} s; lane 2 sent the next receipt by "
        f"{', '.join(p['lane_2_sent_without_a_tap']) or 'nothing'} with no tap",
        f"STOP texted to {st['texted_to']} reached "
        + ", ".join(f"{lane} in {s} s" for lane, s in st["reached_s"].items())
        + f"; the next sale at lane 1 went by {', '.join(st['next_sale_channels']) or 'no text'}",
        f"{o['lane']} offline {o['offline_s']} s while ringing {o['sales_while_offline']} sales; back online, "
        f"it caught up {o['catch_up_records']} records in {o['catch_up_s']} s (its first push back went through "
        f"after {o['first_push_after_s']} s: the lane's retry wait)",
        f"Took {f['seconds']} s in all",
    ]
    if f["pos_errors"]:
        lines.append(f"POS errors: {f['pos_errors']}")
    return "\n".join(lines)
