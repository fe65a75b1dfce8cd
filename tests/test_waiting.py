"""The waiting helpers the tests use read what is written, never what is half written."""

from __future__ import annotations

import threading

from waiting import complete_json_lines, wait_until


def test_a_half_written_last_line_is_not_read(tmp_path) -> None:
    log = tmp_path / "server.log"
    log.write_text('{"request_id": "a", "status": 200}\nplain text line\n{"request_id": "b", "sta', encoding="utf-8")
    assert complete_json_lines(log) == [{"request_id": "a", "status": 200}]
    with log.open("a", encoding="utf-8") as f:
        f.write('tus": 201}\n')
    assert [e["request_id"] for e in complete_json_lines(log)] == ["a", "b"]


def test_a_missing_file_has_no_lines(tmp_path) -> None:
    assert complete_json_lines(tmp_path / "not-yet.log") == []


def test_wait_until_returns_once_a_writer_has_finished_its_line(tmp_path) -> None:
    log = tmp_path / "server.log"
    go = threading.Event()

    def writer() -> None:
        with log.open("w", encoding="utf-8") as f:
            f.write('{"request_id": "late", ')
            f.flush()
            go.wait(30)
            f.write('"status": 200}\n')

    thread = threading.Thread(target=writer)
    thread.start()
    wait_until(lambda: log.exists() and log.stat().st_size > 0)
    assert complete_json_lines(log) == []  # the half line is there, and not read
    go.set()
    entries = wait_until(lambda: complete_json_lines(log))
    thread.join(30)
    assert entries == [{"request_id": "late", "status": 200}]
