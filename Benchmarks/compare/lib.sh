# Helpers shared by the same-run comparison scripts (sourced, not run).

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Field $1 of the JSON object on stdin.
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
