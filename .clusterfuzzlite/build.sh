#!/bin/bash -eu
# ClusterFuzzLite build script: the same build as OSS-Fuzz, from one script
# (oss-fuzz/build.sh in this checkout), so the two cannot drift apart.
exec bash -eux "$SRC/filename-refcount/oss-fuzz/build.sh"
