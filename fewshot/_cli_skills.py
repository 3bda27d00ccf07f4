"""``fewshot skills ...`` and ``fewshot adaptive ...``: skill vocabularies, bulk skill edits, skill
prediction, difficulty thresholds, adaptive prompts (AdaptMI / AdaptMI+) and the two-pass run.
Thin commands over the Workspace's adaptive service (the API calls the same functions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ._cli_support import console, table
from .exceptions import InvalidInputError

skills_app = typer.Typer(no_args_is_help=True, help="Skill labels of a pool: vocabulary, bulk edits, prediction, "
                                                    "difficulty thresholds.")
adaptive_app = typer.Typer(no_args_is_help=True, help="Skill-adaptive prompts (AdaptMI / AdaptMI+): build one from "
                                                      "feedback on a first answer, or run model -> judge -> model.")


def _ws(ctx: typer.Context):
    return ctx.find_root().obj.ws


def _split(values: Optional[list[str]]) -> Optional[list[str]]:
    """Repeatable options that may also hold comma-separated lists."""
    if values is None:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def _floats(text: Optional[str], what: str) -> Optional[list[float]]:
    if text is None:
        return None
    try:
        return [float(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise InvalidInputError(f"{what} must be comma-separated numbers, got {text!r}") from None


# --------------------------------------------------------------------------------- skills
@skills_app.command("list")
def skills_list(ctx: typer.Context, pool: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """The pool's skill vocabulary (stored, or derived from its items) with item counts."""
    info = _ws(ctx).skill_vocabulary(pool)
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    source = "stored" if info["stored"] else "derived from items"
    table(f"{pool}: {len(info['skills'])} skills ({source})", ["skill", "items"],
          [[s, info["counts"].get(s, 0)] for s in info["skills"]])


@skills_app.command("set")
def skills_set(ctx: typer.Context, pool: str,
               skill: Optional[list[str]] = typer.Argument(None, help="The vocabulary (names or comma lists)."),
               reset: bool = typer.Option(False, "--reset", help="Forget the stored vocabulary; derive it from items.")) -> None:
    """Store the pool's skill vocabulary (refused while items carry skills outside it)."""
    if reset == bool(skill):
        raise InvalidInputError("give the skills, or --reset")
    info = _ws(ctx).set_skill_vocabulary(pool, None if reset else _split(skill))
    console.print(f"{pool}: {len(info['skills'])} skills ({'stored' if info['stored'] else 'derived from items'})")


@skills_app.command("edit")
def skills_edit(ctx: typer.Context, pool: str,
                ids: Optional[list[str]] = typer.Option(None, "--id", help="Item id (repeatable or comma list)."),
                set_: Optional[list[str]] = typer.Option(None, "--set", help="Replace the items' skills with these."),
                add: Optional[list[str]] = typer.Option(None, "--add", help="Add these skills."),
                remove: Optional[list[str]] = typer.Option(None, "--remove", help="Remove these skills."),
                file: Optional[Path] = typer.Option(None, "--file", help="JSONL/CSV with id and skills per item "
                                                                          "(optional mode column)."),
                mode: str = typer.Option("set", help="For --file: set, add or remove."),
                fmt: Optional[str] = typer.Option(None, "--format", help="jsonl or csv [from the suffix].")) -> None:
    """Bulk skill edits, all or nothing (errors name the id and line). Re-run `fewshot index` after."""
    ws = _ws(ctx)
    if file is not None:
        report = ws.edit_skills(pool, path=file, mode=mode, fmt=fmt)
    else:
        report = ws.edit_skills(pool, _split(ids) or [], set=_split(set_), add=_split(add), remove=_split(remove))
    new = f"; new skills: {', '.join(report.new_skills)}" if report.new_skills else ""
    index = f"; index refreshed to v{report.index_version}" if report.index_version is not None else ""
    console.print(f"{pool}: {report.changed} items changed, {report.unchanged} unchanged of {report.read}{new}{index}")


@skills_app.command("predict")
def skills_predict(ctx: typer.Context, pool: str, query: list[str] = typer.Argument(..., help="One or more queries."),
                   method: str = typer.Option("knn", help="knn, logreg or lm."),
                   lm: Optional[str] = typer.Option(None, help="LM backend spec for --method lm (e.g. smollm2)."),
                   top: int = typer.Option(1, help="Skills per query."),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """Predict the skills of queries from the pool's skill-labeled items (or an LM)."""
    preds = _ws(ctx).predict_skills(pool, query, method=method, top=top, lm=lm)
    for q, skills in zip(query, preds):
        if as_json:
            typer.echo(json.dumps({"query": q, "skills": skills}, ensure_ascii=False))
        else:
            typer.echo(f"{', '.join(skills) or '-'}\t{q[:80]}")


@skills_app.command("thresholds")
def skills_thresholds(ctx: typer.Context, pool: str,
                      final: Optional[float] = typer.Option(None, help="Difficult if the final step score <= this (0.85)."),
                      mean: Optional[float] = typer.Option(None, help="Difficult if the mean step score <= this (0.85)."),
                      step: Optional[float] = typer.Option(None, help="Difficult if a later step <= this (0.7)."),
                      confidence: Optional[float] = typer.Option(None, help="Difficult if the first answer's mean "
                                                                             "token log-prob <= this (-0.5)."),
                      consistency: Optional[float] = typer.Option(None, help="Difficult if the share of samples "
                                                                              "agreeing is below this (0.5)."),
                      reset: bool = typer.Option(False, "--reset", help="Back to the defaults.")) -> None:
    """Show or change the pool's difficulty thresholds."""
    update = {k: v for k, v in (("final", final), ("mean", mean), ("step", step), ("confidence", confidence),
                                ("consistency", consistency)) if v is not None}
    t = _ws(ctx).difficulty_thresholds(pool, update or None, reset=reset)
    typer.echo(json.dumps(t.to_dict()))


# ------------------------------------------------------------------------------- adaptive
def _feedback(feedback_json: Optional[str], first_answer: Optional[str], step_scores: Optional[str],
              confidence: Optional[float], sample: Optional[list[str]], missing_skills: Optional[list[str]],
              difficult: Optional[bool]) -> Optional[dict[str, Any]]:
    fb: dict[str, Any] = {}
    if feedback_json is not None:
        text = Path(feedback_json).read_text(encoding="utf-8") if not feedback_json.lstrip().startswith("{") \
            else feedback_json
        try:
            fb = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"--feedback-json: malformed JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(fb, dict):
            raise InvalidInputError("--feedback-json must be a JSON object")
    for name, value in (("first_answer", first_answer), ("step_scores", _floats(step_scores, "--step-scores")),
                        ("confidence", confidence), ("samples", sample), ("missing_skills", _split(missing_skills)),
                        ("difficult", difficult)):
        if value is not None:
            fb[name] = value
    return fb or None


def _show(prompt: Any, decision: Any, prompt_id: Optional[str], as_json: bool, chat: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"id": prompt_id, "text": prompt.text, "messages": prompt.messages,
                               "demo_ids": [d.id for d in prompt.demos], **decision.to_dict()}, ensure_ascii=False))
        return
    typer.echo(json.dumps(prompt.messages, indent=1, ensure_ascii=False) if chat else prompt.text)
    skills = f" skills: {', '.join(decision.skills)}" if decision.skills else ""
    console.print(f"\n[bold]{decision.branch}[/]{skills}\n[dim]{decision.reason}[/]", highlight=False)
    if prompt_id:
        console.print(f"[dim]prompt {prompt_id}: {len(prompt.demos)} demonstrations; "
                      f"`fewshot prompts show {prompt_id}` for its provenance[/]")


@adaptive_app.command("prompt")
def adaptive_prompt(ctx: typer.Context, pool: str, query: str,
                    feedback_json: Optional[str] = typer.Option(None, "--feedback-json",
                                                                help="Feedback object as JSON text or a file."),
                    first_answer: Optional[str] = typer.Option(None, help="The model's first answer."),
                    step_scores: Optional[str] = typer.Option(None, help="Comma-separated step scores of that answer."),
                    confidence: Optional[float] = typer.Option(None, help="Its mean token log-prob."),
                    sample: Optional[list[str]] = typer.Option(None, help="A sampled answer (repeatable)."),
                    missing_skills: Optional[list[str]] = typer.Option(None, "--missing-skills",
                                                                       help="Skills the answer lacked (AdaptMI+)."),
                    difficult: Optional[bool] = typer.Option(None, "--difficult/--easy", help="Your own verdict."),
                    k: int = typer.Option(5, "--k", "-k", help="Demonstrations."),
                    retriever: str = typer.Option("dense", help="Default (stage-1 / easy) retriever."),
                    template: str = typer.Option("math", help="classification, multiple_choice, generation, math."),
                    output_field: Optional[str] = typer.Option("answer", help="Item field holding each "
                                                                               "demonstration's answer."),
                    predictor: str = typer.Option("knn", help="Skill predictor: knn or logreg."),
                    max_tokens: int = typer.Option(2048, help="Token budget of the whole prompt."),
                    chat: bool = typer.Option(False, "--chat", help="Print chat messages as JSON."),
                    as_json: bool = typer.Option(False, "--json", help="One JSON object with branch and reason.")) -> None:
    """Build the prompt the AdaptMI policy chooses for QUERY; without feedback, the stage-1 prompt."""
    fb = _feedback(feedback_json, first_answer, step_scores, confidence, sample, missing_skills, difficult)
    built = _ws(ctx).adaptive_prompt(pool, query, feedback=fb, k=k, retriever=retriever, template=template,
                                     output_field=output_field or None, predictor=predictor, max_tokens=max_tokens)
    _show(built.prompt, built.decision, built.prompt_id, as_json, chat)


@adaptive_app.command("run")
def adaptive_run(ctx: typer.Context, pool: str, query: str,
                 lm: str = typer.Option(..., help="LM backend spec, e.g. smollm2, gemma3-270m, hf:<dir>."),
                 judge: str = typer.Option("confidence", help="confidence or consistency."),
                 plus: Optional[str] = typer.Option(None, help="AdaptMI+: who names the missing skills: lm, knn, logreg."),
                 samples: int = typer.Option(3, help="Sampled answers for --judge consistency."),
                 max_new_tokens: int = typer.Option(256, help="Answer length."),
                 k: int = typer.Option(5, "--k", "-k"),
                 template: str = typer.Option("math"),
                 output_field: Optional[str] = typer.Option("answer"),
                 predictor: str = typer.Option("knn", help="Skill predictor: knn or logreg."),
                 max_tokens: int = typer.Option(2048),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Two passes: answer with the stage-1 prompt, judge, answer again from skill demonstrations if difficult."""
    res = _ws(ctx).two_pass(pool, query, lm=lm, judge=judge, plus=plus, n_samples=samples,
                            max_new_tokens=max_new_tokens, k=k, template=template, output_field=output_field or None,
                            predictor=predictor, max_tokens=max_tokens)
    if as_json:
        typer.echo(json.dumps(res.to_dict(), ensure_ascii=False))
        return
    typer.echo(res.answer)
    d = res.decision
    console.print(f"\n[bold]{d.branch}[/]{' skills: ' + ', '.join(d.skills) if d.skills else ''} "
                  f"({'answered again' if res.regenerated else 'kept the first answer'})\n[dim]{d.reason}[/]",
                  highlight=False)
