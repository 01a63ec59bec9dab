"""Output names by seed:003's convention (`character-name_v1_1000steps.safetensors`), when asked for with
`save.name_template`: the plan's name becomes the formatted template, so every trainer writes its final LoRA as
`<that name>.safetensors` and `find_outputs` finds it under the same name."""

from __future__ import annotations

import string

from fluxgen.errors import UserError
from fluxgen.origin import extend
from fluxgen.rules import Resolver

FIELDS = ("name", "version", "steps", "rank", "kind")
SEED_003_TEMPLATE = "{name}_v{version}_{steps}steps"


def plan_naming(r: Resolver) -> None:
    template = r.given("save.name_template")
    if template is None:
        return  # the plain name; the plan (and its hash) stays as it was
    version = r.take("version", "save.version", 1, "version 1 unless the intent says otherwise (seed:003)")
    unknown = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None and f not in FIELDS]
    if unknown:
        where = r.layered.origins.get("save.name_template", "save.name_template")
        raise UserError(f"{where}: save.name_template: unknown field {{{unknown[0]}}}; use "
                        + ", ".join("{" + f + "}" for f in FIELDS) + f" (seed:003's is '{SEED_003_TEMPLATE}')")
    from fluxgen.plan import slug

    fields = {"name": r.values["name"], "version": version, "steps": r.values["steps"], "rank": r.values["rank"],
              "kind": r.kind}
    named = slug(template.format(**fields))
    r.values["name"] = named
    given = r.layered.origins.get("save.name_template", "intent")
    r.origins["name"] = extend(r.origins["name"], f"; named by save.name_template '{template}' ({given}), seed:003's convention")
