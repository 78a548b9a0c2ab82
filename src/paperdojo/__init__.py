"""paperdojo: a study and interview-prep assistant over a library of ML-systems papers.

The packages follow the data: `library` (source -> pages -> sections -> chunks -> vectors -> index),
`answering` (index -> hits -> cited answer), `study` (answer -> grade, spaced repetition) and
`evaluation` (measuring all of it). `workspace.Workspace` is the one facade the front ends (`cli`,
`app`, `doctor`) use; `settings`, `records` and `util` are shared by every stage.
"""
