"""The layout watch's judgement of a site over its window across runs
(crawler.outcome.layout_watch.judge_site): pure, on hand-made readings."""

from __future__ import annotations

import dataclasses

import pytest

from crawler.incremental.watch import PageReading, SiteWatch, dump, load_site_watch
from crawler.outcome.judge import ExitCode, judge
from crawler.outcome.layout_watch import (
    VERDICTS_STAT,
    LayoutRules,
    SiteLayout,
    SiteVerdict,
    acknowledge,
    judge_site,
    learnt_layouts,
)

pytestmark = pytest.mark.unit

T0 = 1_800_000_000.0
RULES = LayoutRules()
SITE = "spacewar.com"


def page(
    run: int,
    n: int,
    layout: str | None = "classic",
    *,
    missing: tuple[str, ...] = (),
    implausible: tuple[str, ...] = (),
) -> PageReading:
    article = layout is not None
    return PageReading(
        site=SITE,
        key=f"{SITE}/{run}/{n}",
        seen_at=T0 + run * 1800 + n,
        run=f"run{run}",
        known=layout in ("classic", "modern", "legacy"),
        article=article,
        layout=layout,
        missing=missing if article else ("title", "text", "published_date", "dateline", "byline"),
        implausible=implausible,
    )


def entry(points: int = 1, empty: int = 0) -> SiteLayout:
    return SiteLayout(SITE, 0, 0, 0, {}, RULES, entry_points=points, entry_points_empty=empty)


def run_judge(
    window: list[PageReading], before: SiteWatch, run: int, counts: SiteLayout | None = None
) -> SiteVerdict:
    return judge_site(SITE, window, before, counts or entry(), f"run{run}", T0 + run * 1800, RULES)


CLASSIC = SiteWatch(layouts=("classic",))
HISTORY = [page(1, n) for n in range(20)]


def test_two_unread_pages_fire_on_a_fresh_dataset() -> None:
    verdict = run_judge([page(1, 0, None), page(1, 1, "fallback")], SiteWatch(), 1)
    assert verdict.fired
    assert verdict.watch.fired_since == T0 + 1800
    assert "2 article pages in a row not read as before" in verdict.describe()
    assert "1 by the fallback, 1 not read as articles" in verdict.describe()


def test_one_odd_page_fires_neither_among_good_ones_nor_alone() -> None:
    assert not run_judge([*HISTORY, page(2, 0, None)], CLASSIC, 2).fired
    mixed = [*HISTORY, page(2, 0, None), *(page(2, n) for n in range(1, 6))]
    assert not run_judge(mixed, CLASSIC, 2).fired
    # A second odd page in a later run, with good ones in between: still not.
    assert not run_judge([*mixed, page(3, 0, None)], CLASSIC, 3).fired


def test_a_switch_of_layout_fires_and_stays_fired_until_acknowledged() -> None:
    window = [*HISTORY, page(2, 0, "legacy"), page(2, 1, "legacy")]
    fired = run_judge(window, CLASSIC, 2)
    assert fired.fired and "2 by the legacy layout instead of classic" in fired.describe()
    # A run with nothing new (its entry points fetched): still fired, since the same time.
    again = run_judge(window, fired.watch, 3)
    assert again.fired and again.watch.fired_since == fired.watch.fired_since
    # No evidence at all (the site not crawled): the state as it was.
    assert run_judge(window, fired.watch, 3, counts=entry(points=0)).watch == fired.watch
    acked = acknowledge(fired.watch, window, T0 + 9000)
    assert acked.fired and acked.acknowledged_at == T0 + 9000
    assert acked.layouts == ("classic", "legacy")
    assert not run_judge(window, acked, 4).watch.fired  # reads as usual now: cleared


def test_an_acknowledged_site_whose_pages_no_layout_reads_stays_acknowledged() -> None:
    window = [*HISTORY, page(2, 0, None), page(2, 1, None)]
    fired = run_judge(window, CLASSIC, 2)
    acked = acknowledge(fired.watch, window, T0 + 9000)
    later = run_judge([*window, page(3, 0, None)], acked, 3)
    assert later.watch.fired and not later.fired  # reported, not failed
    back = run_judge([*window, page(4, 0)], later.watch, 4)
    # Reads normally again: fired and acknowledgement end.
    assert back.watch.layouts == ("classic",) and not back.watch.fired
    assert back.watch.acknowledged_at is None


def test_lost_fields_fire_over_the_newest_articles() -> None:
    newest = [page(2 + n // 2, n, implausible=("dateline",)) for n in range(6)]
    verdict = run_judge([*HISTORY, *newest], CLASSIC, 4)
    assert verdict.fired
    assert "fields below their minimum on the 10 newest articles: dateline 40% (min 50%)" in (
        verdict.describe()
    )


def test_an_empty_entry_point_fires_and_clears_when_it_links_again() -> None:
    fired = run_judge(HISTORY, CLASSIC, 2, counts=entry(2, 1))
    assert fired.fired and "1 of 2 entry points" in fired.describe()
    assert not run_judge(HISTORY, fired.watch, 3, counts=entry(2, 0)).watch.fired


def test_a_run_that_reads_normally_teaches_its_layouts() -> None:
    # SpaceDaily: the archive on the classic layout, new posts on the modern platform.
    first = [page(1, 0, "modern"), page(1, 1), page(1, 2, "legacy")]
    assert learnt_layouts(first) == {"classic", "legacy", "modern"}
    verdict = run_judge(first, SiteWatch(), 1)
    assert verdict.watch.layouts == ("classic", "legacy", "modern")
    assert not run_judge([*first, page(2, 0, "modern")], verdict.watch, 2).fired
    # A run that fired teaches nothing.
    fired = run_judge([*HISTORY, page(2, 0, "modern"), page(2, 1, "modern")], CLASSIC, 2)
    assert fired.fired and fired.watch.layouts == ("classic",)


def test_a_run_teaches_the_layouts_of_its_pages_that_left_the_window() -> None:
    # 300 SpaceDaily pages in one run, the window keeps the newest 50: all modern.
    window = [page(1, n, "modern") for n in range(50)]
    counts = SiteLayout(SITE, 300, 300, 300, {}, RULES, layouts={"classic": 250, "modern": 50})
    verdict = run_judge(window, SiteWatch(), 1, counts)
    assert verdict.watch.layouts == ("classic", "modern")
    # A later run that meets archive pages only (a backfill) reads as usual.
    later = [*window[2:], page(2, 0), page(2, 1)]
    assert not run_judge(later, verdict.watch, 2).fired


# The workers of a distributed run share its id ("run2" here), and each judges the run at its
# close over the window as the workers closed so far have filled it.


def test_a_worker_that_closes_later_is_not_judged_by_what_an_earlier_one_learnt() -> None:
    # SpaceDaily's two platforms in one run: the worker that closed first had read archive
    # pages only (classic); the other's, newest in the window, are on the modern platform.
    first_part = [page(2, n) for n in range(8)]
    early = run_judge(first_part, SiteWatch(), 2)
    assert not early.fired and early.watch.layouts == ("classic",)
    whole = [*first_part, *(page(2, 10 + n) for n in range(3))]
    whole += [page(2, 20 + n, "modern") for n in range(12)]
    late = run_judge(whole, early.watch, 2)
    assert not late.fired, late.describe()
    assert late.watch.layouts == ("classic", "modern")
    # The next run knows both platforms as usual.
    nxt = run_judge([*whole, page(3, 0, "modern"), page(3, 1, "modern")], late.watch, 3)
    assert not nxt.fired and nxt.watch.layouts == ("classic", "modern")


def test_a_worker_that_closes_later_still_fires_on_a_change_of_the_run() -> None:
    first_part = [*HISTORY, *(page(2, n) for n in range(3))]
    early = run_judge(first_part, CLASSIC, 2)
    assert not early.fired
    whole = [*first_part, *(page(2, 10 + n, "legacy") for n in range(12))]
    late = run_judge(whole, early.watch, 2)
    assert late.fired and "10 by the legacy layout instead of classic" in late.describe()
    assert late.watch.layouts == ("classic",)  # a run that fired teaches nothing


def test_an_acknowledgement_stands_for_the_whole_run_of_the_workers() -> None:
    window = [*HISTORY, page(2, 0, None), page(2, 1, None)]
    fired = run_judge(window, CLASSIC, 2)
    assert fired.fired
    acked = acknowledge(fired.watch, window, T0 + 9000)
    # Run 3: the first worker's part reads normally, which ends the firing; the whole does not.
    first_part = [*window, *(page(3, n) for n in range(3))]
    early = run_judge(first_part, acked, 3)
    assert not early.watch.fired
    whole = [*first_part, *(page(3, 10 + n, None) for n in range(12))]
    late = run_judge(whole, early.watch, 3)
    assert late.watch.fired and not late.fired  # still acknowledged: reported, not failed
    assert late.watch.fired_since == fired.watch.fired_since
    assert late.watch.acknowledged_at == T0 + 9000


def test_a_run_id_given_again_is_another_run() -> None:
    # Two crawls with the same SMN_CRAWL_ID, one after the other: the second is judged from
    # what the first left, a fellow worker's state is recognised by its time.
    window = [*HISTORY, page(2, 0, "legacy"), page(2, 1, "legacy")]
    first = judge_site(SITE, window, CLASSIC, entry(), "run2", T0 + 4000, RULES, started=T0)
    assert first.fired
    later = [*window, page(2, 5, "legacy")]
    again = judge_site(
        SITE, later, first.watch, entry(), "run2", T0 + 9000, RULES, started=T0 + 8000
    )
    assert again.fired and again.watch.fired_since == first.watch.fired_since
    # a worker that began before the first's judgement was stored is a fellow worker
    fellow = judge_site(SITE, later, first.watch, entry(), "run2", T0 + 9000, RULES, started=T0)
    assert fellow.watch.before_run == CLASSIC


def test_a_site_watch_is_stored_with_the_state_before_its_run() -> None:
    early = run_judge([page(2, n) for n in range(8)], CLASSIC, 2).watch
    assert early.run == "run2" and early.before_run == CLASSIC
    assert load_site_watch(dump(early)) == early
    # A state stored by an older crawler (no run) loads as one before any run.
    assert load_site_watch('{"layouts":["classic"],"future":1}') == CLASSIC


def test_the_verdicts_in_the_stats_decide_the_exit_code() -> None:
    fired = run_judge([page(1, 0, None), page(1, 1, None)], SiteWatch(), 1)
    acked = dataclasses.replace(fired.watch, acknowledged_at=T0)
    quiet = dataclasses.replace(fired, watch=acked)
    base = {"finish_reason": "finished", "downloader/request_count": 3, "smn/entry/fetched": 1}
    outcome = judge({**base, VERDICTS_STAT: {SITE: fired.as_dict()}})
    assert outcome.code == ExitCode.LAYOUT_CHANGED
    assert "layout changed on spacewar.com: 2 article pages" in outcome.line()
    assert "(since 2027-01-15" in outcome.line()
    outcome = judge({**base, VERDICTS_STAT: {SITE: quiet.as_dict()}})
    assert outcome.code == ExitCode.OK


def test_a_field_the_site_always_had_lost_on_its_newest_pages_fires() -> None:
    """The usual layout still reads the new pages, but the dateline it finds fails its
    check ("by Staff Writers London, UK") and the byline is gone: two pages are enough."""
    newest = [
        page(2, 0, implausible=("dateline",), missing=("byline",)),
        page(2, 1, implausible=("dateline",), missing=("byline",)),
    ]
    verdict = run_judge([*HISTORY, *newest], CLASSIC, 2)
    assert verdict.fired
    assert "dateline missing on the 2 newest articles (found on 100% of the 20 before)" in (
        verdict.describe()
    )
    assert "byline missing on the 2 newest articles" in verdict.describe()
    # A field the site's pages often lack (agency briefs without a byline) says nothing.
    spotty = [page(1, n, missing=("byline",) if n % 3 else ()) for n in range(20)]
    assert not run_judge(
        [*spotty, *(page(2, n, missing=("byline",)) for n in range(2))], CLASSIC, 2
    ).fired
