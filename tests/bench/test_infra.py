"""The benchmark's database helper follows README and drops only its own databases."""

from __future__ import annotations

import pytest

from bench import infra, report
from bench.run import chosen_paths


def test_database_url_reads_a_server_and_names_the_benchmarks_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DATABASE_URL", "postgres://bench:pw@127.0.0.1:5433/my_own_data")
    assert infra.database_url(infra.BENCH_DATABASE) == "postgres://bench:pw@127.0.0.1:5433/engage_bench"


def test_database_url_refuses_a_server_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DATABASE_URL", "postgres://postgres@db.example.com:5432/postgres")
    with pytest.raises(SystemExit, match="loopback"):
        infra.database_url(infra.BENCH_DATABASE)


@pytest.mark.parametrize("name", ["my_own_data", "engage", "postgres", "engage_bench_x", "test_engage_speed"])
def test_recreate_and_drop_refuse_any_database_but_the_benchmarks(name: str) -> None:
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    # Refused before any connection is made: nothing on the server is touched.
    with pytest.raises(SystemExit, match="refusing"):
        infra.recreate_database(url)
    with pytest.raises(SystemExit, match="refusing"):
        infra.drop_database(url)


def test_only_picks_paths_in_their_order_and_api_means_every_api_path() -> None:
    assert chosen_paths("webhook,claim") == ["claim", "webhook"]
    assert chosen_paths("api") == ["b", "floor", "queue", "claim", "answer", "webhook"]
    with pytest.raises(SystemExit, match="no such path"):
        chosen_paths("clam")


def test_skip_phase_carries_the_previous_section_over_and_says_so() -> None:
    previous = (
        "# Benchmark results\n\n- **Date**: 2026-11-27 06:37 UTC\n\n"
        f"{report.PHASE_HEADING}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Notes\n\n- note\n"
    )
    carried = report.carried_phase_section(previous)
    assert carried is not None
    text = "\n".join(carried)
    assert report.PHASE_HEADING in text
    assert "Not measured in this run" in text
    assert "2026-11-27 06:37 UTC" in text
    assert "| 1 | 2 |" in text
    assert "## Notes" not in text
