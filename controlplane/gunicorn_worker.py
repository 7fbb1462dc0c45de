"""gunicorn's sync worker, woken one at a time for a new connection.

Every idle sync worker waits in ``select`` on the listening socket it shares with the others,
so each new connection wakes all of them: one accepts it, the rest find nothing, and go back to
sleep. When requests arrive one by one (as a storefront's do, short of the peak) that costs every
request a wakeup per idle worker. This worker waits in ``epoll`` with ``EPOLLEXCLUSIVE``
(Linux 4.5+), with which the kernel wakes one waiter per new connection. Everything else,
including the accept loop, the heartbeat and the signal pipe, is gunicorn's ``SyncWorker``.
Where ``EPOLLEXCLUSIVE`` does not exist, it is the plain sync worker.
"""

import os
import select

from gunicorn.workers.sync import SyncWorker

_EXCLUSIVE = getattr(select, "EPOLLEXCLUSIVE", None)


class ExclusiveSyncWorker(SyncWorker):
    _poller: "select.epoll | None" = None
    _poller_pid = 0

    def _poller_now(self) -> "select.epoll":
        """This process's epoll: listeners exclusive, the signal pipe as usual."""
        if self._poller is None or self._poller_pid != os.getpid():
            poller = select.epoll()
            self._ready_by_fd = {}
            for source in self.wait_fds:
                if isinstance(source, int):  # the signal pipe, a bare fd: woken as usual
                    fd, flags = source, select.EPOLLIN
                else:  # a listener: one waiter per new connection
                    fd, flags = source.fileno(), select.EPOLLIN | _EXCLUSIVE
                poller.register(fd, flags)
                self._ready_by_fd[fd] = source
            self._poller, self._poller_pid = poller, os.getpid()
        return self._poller

    def wait(self, timeout):
        if _EXCLUSIVE is None:
            return super().wait(timeout)
        self.notify()
        events = self._poller_now().poll(timeout)
        if not events:
            return None
        ready = [self._ready_by_fd[fd] for fd, _ in events]
        if self.PIPE[0] in ready:
            os.read(self.PIPE[0], 1)
        return ready
