#!/usr/bin/env python3
"""Prints what binding.gyp gives the Linux build, so the sanitizer and fuzz
builds compile exactly the sources the shipped library has (no second list).

  gyp-sources.py sources    -> one path per line (common + OS=='linux')
  gyp-sources.py cflags     -> -I dirs and the linux cflags, one per line
  gyp-sources.py libraries  -> the linux libraries (-ldl ...), one per line

binding.gyp is a Python literal with comments, which is how gyp reads it too.
"""
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
with open(os.path.join(root, 'binding.gyp')) as f:
    gyp = eval(compile(f.read(), 'binding.gyp', 'eval'), {'__builtins__': {}})

target = next(t for t in gyp['targets'] if t['target_name'] == 'ostls')
linux = {}
for cond in target.get('conditions', []):
    if cond[0] == "OS=='linux'":
        linux = cond[1]

what = sys.argv[1] if len(sys.argv) > 1 else 'sources'
if what == 'sources':
    out = target.get('sources', []) + linux.get('sources', [])
elif what == 'cflags':
    out = ['-I' + d for d in target.get('include_dirs', [])] + linux.get('cflags', [])
elif what == 'libraries':
    out = linux.get('libraries', [])
else:
    sys.exit('usage: gyp-sources.py sources|cflags|libraries')
print('\n'.join(out))
