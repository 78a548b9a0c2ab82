"""Study: mock interviews over the library, grading of answers (interview, rubric) and progress."""
