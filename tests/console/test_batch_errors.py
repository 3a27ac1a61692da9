"""A batch with nothing selected (or no such action): the console list again (400), the message at
the batch bar, the deployments and any ticked boxes still there (issue 11 item 5)."""

from __future__ import annotations

from tests.console.test_batch import deploy, statuses
from tests.web.html import Node, parse_html


def batch_message(doc: Node) -> Node:
    bar = doc.one("div", class_="batch-bar")
    message = bar.one(id="batch-error")  # inside the bar, next to its buttons
    assert message.get("role") == "alert"
    assert all(b.get("aria-describedby") == "batch-error" for b in bar.find_all("button"))
    assert len(bar.find_all("button")) == 4
    return message


async def test_nothing_selected_comes_back_to_the_console_with_the_message(as_alice, sessions, keyring, http, cloud, alice):
    await deploy(sessions, keyring, http, alice, "gpu-1")
    await deploy(sessions, keyring, http, alice, "gpu-2")

    response = await as_alice.get("/console/batch?op=stop")
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert doc.one("h1").text == "Deployments" and doc.find("section", class_="error-page") is None
    assert "Select at least one deployment" in batch_message(doc).text
    assert {r.get("data-name") for r in doc.one("table", class_="deployments").find("tbody").find_all("tr")} == {
        "gpu-1", "gpu-2"}
    assert [b.get("data-batch-op") for b in doc.one("div", class_="batch-bar").find_all("button")] == [
        "start", "stop", "reboot", "delete"]
    assert await statuses(sessions) == {"gpu-1": "provisioning", "gpu-2": "provisioning"}


async def test_the_run_step_with_nothing_selected_is_the_same_page(as_alice, sessions, keyring, http, cloud, alice):
    await deploy(sessions, keyring, http, alice, "gpu-1")
    response = await as_alice.post("/console/batch", [("op", "delete")])
    assert response.status_code == 400
    assert "Select at least one deployment" in batch_message(parse_html(response.text)).text
    assert await statuses(sessions) == {"gpu-1": "provisioning"}


async def test_an_unknown_action_keeps_the_ticked_boxes(as_alice, sessions, keyring, http, cloud, alice):
    first = await deploy(sessions, keyring, http, alice, "gpu-1")
    await deploy(sessions, keyring, http, alice, "gpu-2")
    response = await as_alice.get(f"/console/batch?op=explode&id={first}")
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert "choose one of: start, stop, reboot, delete" in batch_message(doc).text.lower()
    ticked = [box.get("value") for box in doc.find_all("input", name="id") if "checked" in box.attrs]
    assert ticked == [str(first)]
