"""``fewshot adaptive ...``: skill-adaptive prompts (AdaptMI / AdaptMI+) built from feedback on a
first answer, and the two-pass run model -> judge -> model (the Workspace's prompt service)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ._help import FewshotTyper
from ._output import console, echo_json, escape
from ._params import parse_floats, split_values
from ._workspace import workspace

__all__ = ["adaptive_app"]

adaptive_app = FewshotTyper(
    help="Skill-adaptive prompts (AdaptMI / AdaptMI+): build one from feedback on a first "
    "answer, or run model -> judge -> model."
)

TEMPLATE_HELP = "Prompt template: {choices:template}."


def _read_feedback(text: str) -> dict[str, Any]:
    """``--feedback-json``: a JSON object given inline, or the path of a file holding one."""
    if not text.lstrip().startswith("{"):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(
                f"neither a JSON object nor a readable file ({exc.strerror})", param_hint="--feedback-json"
            ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"malformed JSON ({exc.msg} at column {exc.colno})", param_hint="--feedback-json"
        ) from None
    if not isinstance(data, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--feedback-json")
    return data


def _feedback(feedback_json: str | None, **fields: Any) -> dict[str, Any] | None:
    """The feedback object: ``--feedback-json`` with the single-field options laid over it (the
    service validates the fields, `fewshot.adaptive.Feedback.from_dict`)."""
    fb = _read_feedback(feedback_json) if feedback_json is not None else {}
    fb.update({name: value for name, value in fields.items() if value is not None})
    return fb or None


def _show(prompt: Any, decision: Any, prompt_id: str | None, as_json: bool, chat: bool) -> None:
    if as_json:
        echo_json(
            {
                "id": prompt_id,
                "text": prompt.text,
                "messages": prompt.messages,
                "demo_ids": [d.id for d in prompt.demos],
                **decision.to_dict(),
            }
        )
        return
    if chat:
        echo_json(prompt.messages, indent=1)
    else:
        typer.echo(prompt.text)
    skills = f" skills: {', '.join(decision.skills)}" if decision.skills else ""
    console.print(
        f"\n[bold]{escape(decision.branch)}[/]{escape(skills)}\n[dim]{escape(decision.reason)}[/]", highlight=False
    )
    if prompt_id:
        console.print(
            f"[dim]prompt {prompt_id}: {len(prompt.demos)} demonstrations; "
            f"`fewshot prompts show {prompt_id}` for its provenance[/]",
            soft_wrap=True,
        )


@adaptive_app.command("prompt")
def adaptive_prompt(
    ctx: typer.Context,
    pool: str,
    query: str,
    feedback_json: str | None = typer.Option(None, "--feedback-json", help="Feedback object as JSON text or a file."),
    first_answer: str | None = typer.Option(None, help="The model's first answer."),
    step_scores: str | None = typer.Option(None, help="Comma-separated step scores of that answer."),
    confidence: float | None = typer.Option(None, help="Its mean token log-prob."),
    sample: list[str] | None = typer.Option(None, help="A sampled answer (repeatable)."),
    missing_skills: list[str] | None = typer.Option(
        None, "--missing-skills", help="Skills the answer lacked (AdaptMI+)."
    ),
    difficult: bool | None = typer.Option(None, "--difficult/--easy", help="Your own verdict."),
    k: int = typer.Option(5, "--k", "-k", help="Demonstrations."),
    retriever: str = typer.Option("dense", help="Default (stage-1 / easy) retriever: {choices:retriever}."),
    template: str = typer.Option("math", help=TEMPLATE_HELP),
    output_field: str | None = typer.Option("answer", help="Item field holding each demonstration's answer."),
    predictor: str = typer.Option("knn", help="Skill predictor: {choices:predictor_no_lm}."),
    max_tokens: int = typer.Option(2048, help="Token budget of the whole prompt."),
    chat: bool = typer.Option(False, "--chat", help="Print chat messages as JSON."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object with branch and reason."),
) -> None:
    """Build the prompt the AdaptMI policy chooses for QUERY; without feedback, the stage-1 prompt."""
    fb = _feedback(
        feedback_json,
        first_answer=first_answer,
        step_scores=parse_floats(step_scores, "--step-scores"),
        confidence=confidence,
        samples=sample,
        missing_skills=split_values(missing_skills),
        difficult=difficult,
    )
    built = workspace(ctx).adaptive_prompt(
        pool,
        query,
        feedback=fb,
        k=k,
        retriever=retriever,
        template=template,
        output_field=output_field or None,
        predictor=predictor,
        max_tokens=max_tokens,
    )
    _show(built.prompt, built.decision, built.prompt_id, as_json, chat)


@adaptive_app.command("run")
def adaptive_run(
    ctx: typer.Context,
    pool: str,
    query: str,
    lm: str = typer.Option(..., help="LM backend spec: {choices:lm}."),
    judge: str = typer.Option("confidence", help="{choices:judge}."),
    plus: str | None = typer.Option(None, help="AdaptMI+: who names the missing skills: {choices:plus}."),
    samples: int = typer.Option(3, help="Sampled answers for --judge consistency."),
    max_new_tokens: int = typer.Option(256, help="Answer length."),
    k: int = typer.Option(5, "--k", "-k", help="Demonstrations."),
    template: str = typer.Option("math", help=TEMPLATE_HELP),
    output_field: str | None = typer.Option("answer", help="Item field holding each demonstration's answer."),
    predictor: str = typer.Option("knn", help="Skill predictor: {choices:predictor}."),
    max_tokens: int = typer.Option(2048, help="Token budget of the whole prompt."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Two passes: answer with the stage-1 prompt, judge, answer again from skill demonstrations if difficult."""
    res = workspace(ctx).two_pass(
        pool,
        query,
        lm=lm,
        judge=judge,
        plus=plus,
        n_samples=samples,
        max_new_tokens=max_new_tokens,
        k=k,
        template=template,
        output_field=output_field or None,
        predictor=predictor,
        max_tokens=max_tokens,
    )
    if as_json:
        echo_json(res.to_dict())
        return
    typer.echo(res.answer)
    d = res.decision
    skills = f" skills: {', '.join(d.skills)}" if d.skills else ""
    outcome = "answered again" if res.regenerated else "kept the first answer"
    console.print(
        f"\n[bold]{escape(d.branch)}[/]{escape(skills)} ({outcome})\n[dim]{escape(d.reason)}[/]", highlight=False
    )
