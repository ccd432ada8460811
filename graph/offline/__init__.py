"""The offline router: routes a turn by Spanish vocabulary when no model is available."""
