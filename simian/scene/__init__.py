"""Pure geometry of a recipe over time: the plan, its composition rules, projection, shapes, effects, ground truth."""
