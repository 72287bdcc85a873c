"""Run by tests/test_distributed.py under torchrun: one large-scale run of the tiny ImageNet-LT tree with a
BatchNorm-free network (per-replica BatchNorm statistics would differ from one process's), its final weights saved.

Usage: torchrun --nproc_per_node=N tests/ddp_worker.py DATA CHECKPOINTS OUT.pt EPOCHS [STOP_AFTER]"""
import sys

import torch

from saddle import distributed
from saddle.config import RunConfig


def config(epochs: int) -> RunConfig:
    return RunConfig.at_scale("large", optimizer="sam", rho=0.05, epochs=epochs, batch_size=8, lr=0.05,
                              eval_every=epochs)


def small_network(num_classes: int = 20) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, num_classes))


class Stop(Exception):
    pass


def train(data, checkpoints, out, epochs, stop_after=None):
    def stop(epoch, _row):
        if epoch == stop_after:
            raise Stop
    model = small_network()
    try:
        distributed.run(config(epochs), data_root=data, checkpoint_dir=checkpoints, workers=0, image_size=32,
                        augment=False, model=model, on_epoch_end=stop, progress=False, device="cpu")
    except Stop:
        return
    if distributed.setup("cpu")[0] == 0:
        torch.save(model.state_dict(), out)


if __name__ == "__main__":
    data, checkpoints, out, epochs = sys.argv[1:5]
    train(data, checkpoints, out, int(epochs), int(sys.argv[5]) if len(sys.argv) > 5 else None)
