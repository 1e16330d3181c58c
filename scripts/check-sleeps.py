#!/usr/bin/python3
"""Fails on a sleep-based wait in tests/integration or the cluster harness it
uses (tests/harness): a time.sleep() that is not inside a while loop (a
poll that checks its condition and a deadline, as raftharness.wait_until
does). A sleep whose point is the passing of time
itself (an LRU clock that counts seconds) says so on its line with a
comment starting "# sleep:"."""
import ast
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "tests"
bad = []
for path in sorted(root.glob("integration/*.py")) + sorted(root.glob("harness/*.py")):
    text = path.read_text()
    lines = text.split("\n")
    tree = ast.parse(text, str(path))
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if name != "sleep":
            continue
        up, polled = node, False
        while up in parents:
            up = parents[up]
            if isinstance(up, ast.While):
                polled = True
                break
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                break
        if not polled and "# sleep:" not in lines[node.lineno - 1]:
            bad.append(f"  {path.relative_to(root.parent)}:{node.lineno}: "
                       f"{lines[node.lineno - 1].strip()}")
if bad:
    print("check-sleeps: sleeps that wait for something instead of polling for it "
          "(use wait_until, or say why on the line: '# sleep: ...'):")
    print("\n".join(bad))
    sys.exit(1)
print("check-sleeps: every sleep in tests/integration and tests/harness polls a condition in a loop "
      "or says why it is a passage of time")
