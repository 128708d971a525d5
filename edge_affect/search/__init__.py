"""Budget-driven model search for the microcontroller (seed 4's Algorithm 1, automated):
explore reductions of a baseline architecture, price each one with the Apollo3
cost model, train the candidates that fit every budget, select by validation
score and report the held-out test score once."""
