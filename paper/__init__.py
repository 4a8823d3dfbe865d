"""The figures of Gatys et al. (2016) regenerated, with the claims they make measured. Each
figure's script writes results/<experiment>/: a PNG grid, the single images and a
metrics.json with its claims judged. What the scripts share: settings (the paper's settings,
convergence rules, caps and command line), experiment (the runs, saved and resumed, and
metrics.json), evaluator (the losses of any picture) and claims. Run them from the repository
root, e.g. `python -m paper.fig3`, or all of them with scripts/reproduce_paper.sh.
"""
