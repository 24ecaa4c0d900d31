"""Precompute on a Ray cluster: one actor per worker slot holds a loaded pipeline (a ClipMaker);
work is split by artwork (an actor takes one artwork's missing clips, then the next artwork); each
clip comes back to the driver, which alone writes files and the manifest (PlaylistWriter), so the
manifest semantics and resumability are those of a local run. A driver killed mid-run takes its
actors with it (they are not detached); a rerun makes only what the manifest lacks.

Every node needs art2mus installed and the bundle at the same path as the driver; the actors report
their bundle's fingerprint and a node with another bundle is refused."""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from engines.errors import Art2MusError
from installation.config import ModelConfig
from installation.curator.precompute import ClipMaker, Plan, PlaylistWriter, Summary, read_image_bytes

log = logging.getLogger(__name__)
START_TIMEOUT_SECONDS = 600.0  # actors placed and their bundles loaded


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise Art2MusError(f"--ray needs Ray ({exc}); pip install '.[cluster]' (on every node)") from None
    return ray


class ModelWorker:
    """The actor: one loaded pipeline, one clip per call."""

    def __init__(self, model: ModelConfig, bundle: str, threads: int):
        from engines.pipeline import Art2MusPipeline

        pipe = Art2MusPipeline.load(bundle, model.backend, model.provider, threads, model.verify_hashes,
                                    model.int8_stages)
        self.maker = ClipMaker(pipe)

    def info(self) -> dict:
        return {**self.maker.info(), "host": socket.gethostname(), "pid": os.getpid()}

    def clip(self, artwork_id: str, image: bytes, name: str, options) -> dict:
        try:
            wave = self.maker.clip(artwork_id, image, name, options)
            return {"wave": wave, "worker": f"{socket.gethostname()}:{os.getpid()}"}
        except Art2MusError as exc:
            return {"error": str(exc)}


@dataclass
class RayPool:
    actors: list
    info: dict
    owns_ray: bool  # this driver started (or joined) Ray and shuts it down at the end

    @classmethod
    def start(cls, address: str, model: ModelConfig, bundle: Path, workers: int | None, worker_cpus: int = 1,
              worker_gpus: float = 0.0) -> RayPool:
        ray = _ray()
        if worker_cpus < 1:
            raise Art2MusError(f"--worker-cpus {worker_cpus!r} must be >= 1")
        owns = not ray.is_initialized()  # an already initialised Ray (a test, a notebook) is used as it is
        if owns:
            init = dict(logging_level=logging.WARNING, include_dashboard=False)
            try:
                if address == "auto":
                    try:
                        ray.init(address="auto", **init)
                    except ConnectionError:
                        log.info("no Ray cluster running here: starting a local one")
                        ray.init(**init)
                else:
                    ray.init(address=address, **init)
            except ConnectionError as exc:
                raise Art2MusError(f"--ray {address!r}: cannot reach a Ray cluster there ({exc}); start one with "
                                   "`ray start --head` or give its address (host:6379, ray://host:10001)") from None
        try:
            resources = ray.cluster_resources()
            slots = int(resources.get("CPU", 0) // worker_cpus)
            if worker_gpus > 0:
                slots = min(slots, int(resources.get("GPU", 0) // worker_gpus))
            n = workers if workers is not None else max(slots, 1)
            if n < 1 or n > max(slots, 0):
                raise Art2MusError(f"--workers {n}: the cluster has room for {slots} actor(s) of {worker_cpus} CPU(s)"
                                   f"{f' and {worker_gpus} GPU(s)' if worker_gpus else ''} ({resources}); "
                                   "use fewer workers or a bigger cluster")
            threads = model.threads or worker_cpus
            remote = ray.remote(ModelWorker).options(num_cpus=worker_cpus, num_gpus=worker_gpus, max_restarts=2,
                                                     max_task_retries=2)
            actors = [remote.remote(model, str(bundle), threads) for _ in range(n)]
            try:
                infos = ray.get([a.info.remote() for a in actors], timeout=START_TIMEOUT_SECONDS)
            except ray.exceptions.GetTimeoutError:
                raise Art2MusError(f"Ray: {n} model actor(s) did not start within {START_TIMEOUT_SECONDS:.0f} s "
                                   "(not enough free CPUs/GPUs, or a bundle that loads slowly)") from None
            except ray.exceptions.RayError as exc:
                raise Art2MusError(f"Ray: a model actor failed to start: {str(exc).strip().splitlines()[-1]} "
                                   f"(is art2mus installed and the bundle at {bundle} on every node?)") from None
            prints = {i["bundle"] for i in infos}
            if len(prints) != 1:
                where = ", ".join(f"{i['host']}: {i['bundle']}" for i in infos)
                raise Art2MusError(f"Ray: the nodes hold different bundles at {bundle} ({where}); copy the same "
                                   "bundle to every node")
            log.info("Ray: %d model actor(s) on %s, bundle %s", n, ", ".join(sorted({i["host"] for i in infos})),
                     infos[0]["bundle"])
            return cls(actors, {"bundle": infos[0]["bundle"], "sample_rate": infos[0]["sample_rate"]}, owns)
        except BaseException:
            if owns:
                ray.shutdown()
            raise

    def run(self, plan: Plan, writer: PlaylistWriter, bar, summary: Summary) -> None:
        """Hands artworks to idle actors and writes every clip as it arrives."""
        ray = _ray()
        queue = deque(plan.works)
        pending: dict = {}  # ObjectRef -> (actor index, work, job)
        outstanding = [0] * len(self.actors)
        alive = set(range(len(self.actors)))
        bar.set_postfix_str(f"{len(self.actors)} Ray worker(s)")

        def assign(i: int) -> None:
            while queue:
                work = queue.popleft()
                try:
                    image = ray.put(read_image_bytes(work.image))
                except Art2MusError as exc:
                    summary.failures[work.artwork_id] = str(exc)
                    bar.update(len(work.jobs))
                    continue
                for job in work.jobs:
                    ref = self.actors[i].clip.remote(work.artwork_id, image, str(work.image), job.options)
                    pending[ref] = (i, work, job)
                outstanding[i] += len(work.jobs)
                return

        try:
            for i in sorted(alive):
                assign(i)
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                i, work, job = pending.pop(ref)
                outstanding[i] -= 1
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    alive.discard(i)
                    result = {"error": f"Ray worker {i} failed: {str(exc).strip().splitlines()[-1]}"}
                if work.artwork_id in summary.failures:
                    pass  # the artwork failed already: its later clips are not written
                elif "error" in result:
                    summary.failures[work.artwork_id] = result["error"]
                else:
                    summary.made += writer.add(job, result["wave"], result["worker"]) is not None
                bar.update(1)
                if outstanding[i] == 0 and i in alive:
                    assign(i)
            for work in queue:  # every actor died
                summary.failures[work.artwork_id] = "no Ray worker left to make it"
                bar.update(len(work.jobs))
        finally:
            self.close()

    def close(self) -> None:
        ray = _ray()
        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - an actor that is gone already
                pass
        self.actors = []
        if self.owns_ray:
            ray.shutdown()
