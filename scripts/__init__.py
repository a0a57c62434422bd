"""The tools around the program (the workflows' steps, the local tools): run from the repository root as
`python3 -m scripts.<name>`, so that they import the platform's library (`infra`) as the program does."""
