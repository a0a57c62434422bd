"""The platform's tests. tests/function/ holds the function's own tests: they need the function's own
environment (.venv-function, built from its requirements) and run there, through the function's own check
(`FUNCTION_CHECKS` of function/function.mk, part of `make check`), never in the platform's venv."""

collect_ignore = ["function"]
