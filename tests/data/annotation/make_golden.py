"""Regenerate the annotation-tool golden files with the real SDKs (label-studio-sdk, argilla).

    python tests/data/annotation/make_golden.py

``labelstudio_project.json`` is a Label Studio JSON export written by hand in the shape the
server exports (tasks with ``data``, ``annotations`` with ``result``, ``was_cancelled``,
``ground_truth``, ``completed_by``): two annotators, a TextArea comment next to the Choices, one
disagreement settled by a ground-truth annotation, one 2-1 majority, a cancelled task and an
unannotated one. The SDK's converter turns it into the JSON-MIN and CSV exports; argilla's record
classes write the nested and flat record exports (with a discarded response).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).parent
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="qtype" toName="text" choice="single">
    <Choice value="description"/><Choice value="entity"/><Choice value="human"/><Choice value="location"/>
  </Choices>
  <TextArea name="comment" toName="text"/>
</View>
"""


def labelstudio() -> None:
    from label_studio_sdk.converter import Converter

    src = HERE / "labelstudio_project.json"
    (HERE / "labelstudio_config.xml").write_text(CONFIG)
    conv = Converter(CONFIG, project_dir=None)
    with tempfile.TemporaryDirectory() as tmp:
        conv.convert_to_json_min(str(src), tmp, is_dir=False)
        rows = json.loads((Path(tmp) / "result.json").read_text())
        (HERE / "labelstudio_project_min.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        conv.convert_to_csv(str(src), tmp, is_dir=False, sep=",", header=True)
        shutil.copy(Path(tmp) / "result.csv", HERE / "labelstudio_project.csv")


def argilla() -> None:
    import argilla as rg
    from argilla.records._io._generic import GenericIO

    u1, u2 = uuid.UUID(int=1), uuid.UUID(int=2)

    def resp(value, user, status="submitted"):
        return rg.Response("qtype", value, user_id=user, status=status)

    records = [
        rg.Record(
            id="trec-train-0",
            fields={"text": "How did serfdom develop in and then leave Russia ?"},
            responses=[resp("description", u1), resp("description", u2)],
        ),
        rg.Record(
            id="trec-train-1",
            fields={"text": "What films featured the character Popeye Doyle ?"},
            responses=[resp("entity", u1), resp(None, u2, "discarded")],
            suggestions=[rg.Suggestion("qtype", "entity", score=0.8, agent="fewshot-knn")],
        ),
        rg.Record(
            id="trec-train-2",
            fields={"text": "How can I find a list of celebrities ' real names ?"},
            responses=[resp(None, u1, "discarded")],
        ),
        rg.Record(
            id="trec-train-3", fields={"text": "What fowl grabs the spotlight after the Chinese Year of the Monkey ?"}
        ),
    ]
    nested = [r.to_dict() for r in records]
    flat = GenericIO.to_list(records, flatten=True)
    for name, data in (("argilla_records.json", nested), ("argilla_records_flat.json", flat)):
        (HERE / name).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    labelstudio()
    argilla()
