"""The figures of Gatys et al. (2016) regenerated, with the claims they make measured. Run them
from the repository root, e.g. `python -m paper.fig3`, or all of them with
scripts/reproduce_paper.sh.
"""
