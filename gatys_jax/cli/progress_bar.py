"""The progress of a run on stderr: a line before compiling, then a tqdm bar."""

from __future__ import annotations

import sys


class Progress:
    """What the run is doing, on stderr: one line before compiling (which can take a while),
    then a tqdm bar with iteration, evaluations, loss (mean over a batch) and ETA."""

    def __init__(self, iterations: int, enabled: bool):
        self.iterations, self.enabled = iterations, enabled
        self.bar = None
        self.position = 0

    def __call__(self, event: dict) -> None:
        if event["phase"] == "compile":
            if self.enabled:
                from gatys_jax.engine.costs import human_bytes
                height, width = event["shape"]
                scales = (f", coarse to fine from {event['scales'][0][1]}x{event['scales'][0][0]}"
                          if len(event["scales"]) > 1 else "")
                # one write, so that Ctrl-C during it never leaves the line without its end
                sys.stderr.write(f"gatys-jax: {event['images']} image(s) of {width}x{height} px "
                                 f"in {event['chunks']} batch(es) of {event['batch_size']}"
                                 f"{scales}, {human_bytes(event['memory_per_image'])} per image; "
                                 "compiling ...\n")
                sys.stderr.flush()
                for note in event["notes"]:
                    print(f"gatys-jax: to fit in memory, {note}", file=sys.stderr)
            return
        position = ((event["chunk"] * event["scales"] + event["scale"]) * self.iterations
                    + event["iteration"])
        if self.bar is None:  # starting where a resumed run stands, so its rate is its own
            from tqdm import tqdm
            self.bar = tqdm(total=self.iterations * event["scales"] * event["chunks"], unit="it",
                            initial=position, disable=not self.enabled, dynamic_ncols=True)
            self.position = position
        self.bar.update(position - self.position)
        self.position = position
        self.bar.set_postfix(evals=str(event["evaluations"]), loss=f"{event['total_loss']:.4g}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
