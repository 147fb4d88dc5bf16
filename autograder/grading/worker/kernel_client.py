"""The client the grading executor talks to its kernel with: jupyter_client's, ready 0.2 s sooner.

``KernelClient.wait_for_ready`` (jupyter_client 8) waits for the kernel_info reply, then checks that
IOPub is connected by waiting up to 0.2 s for *any* IOPub message, then empties IOPub until it has
been quiet for 0.2 s.  That last wait always runs out: every kernel start costs 0.2 s of nothing,
a third of a warm kernel's whole start (see :mod:`.warm`).  And the client connects as soon as the
kernel is launched, before the kernel listens: ZeroMQ then retries every 100 ms, so the first
request waits up to 100 ms more; here it retries every 10 ms.

:class:`ReadyClient` waits for something definite instead: the kernel publishes ``status: idle``
on IOPub, with the kernel_info request as its parent, once it has answered that request.  When that
message arrives, IOPub is connected and nothing of the start-up is still in flight that a cell
could mistake for its own (nbclient keeps only IOPub messages whose parent is the cell's request).
IOPub may not be connected yet when the kernel publishes (ZeroMQ drops what a publisher sends
before the subscription reaches it): ipykernel 7 then greets the subscription with ``iopub_welcome``,
and the request is sent again at once; a kernel that sends no welcome is asked again after 0.5 s.
"""
from __future__ import annotations

import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import default

IOPUB_WAIT = 0.5   # seconds to wait for the idle status before asking again
RECONNECT_MS = 10  # how often a socket retries a kernel that is not listening yet (ZeroMQ's default: 100)


class ReadyClient(AsyncKernelClient):
    """An ``AsyncKernelClient`` whose ``wait_for_ready`` returns once the kernel is idle after kernel_info."""

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        return context

    async def _reply(self, msg_id: str, until: float):
        """The kernel_info reply on the shell channel whose parent is ``msg_id``, or None."""
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.shell_channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg["msg_type"] == "kernel_info_reply" and msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
        return None

    async def _idle(self, msg_ids: list[str], until: float) -> bool:
        """Wait for IOPub's ``status: idle`` after one of the requests ``msg_ids``.  An ``iopub_welcome``
        (ipykernel 7 sends one when our subscription reaches it) before that means the kernel may have
        published the idle status before we were subscribed: ask once more, and that answer will arrive."""
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if msg["msg_type"] == "iopub_welcome" and len(msg_ids) == 1:
                msg_ids.append(self.kernel_info())
            elif (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                  and msg.get("parent_header", {}).get("msg_id") in msg_ids):
                return True
        return False

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            reply = await self._reply(msg_id, min(deadline, time.monotonic() + 1.0))
            if reply is not None and await self._idle([msg_id], min(deadline, time.monotonic() + IOPUB_WAIT)):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready
