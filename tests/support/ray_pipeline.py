"""A Ray Data pipeline through imagescaler's adapter, run by tests/shards/test_ray_data.py
inside a network namespace that has only loopback (`unshare -n`): Ray binds its servers to
every interface, and there only 127.0.0.1 exists.

    python -m tests.support.ray_pipeline SOURCE OUT PROFILE [SKIP_WRITTEN]"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> None:
    import ray
    import ray.data

    from imagescaler.shards.ray_data import PreprocessImages, ShardDatasink, written_keys

    source, out, profile = sys.argv[1:4]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    images = ray.data.read_binary_files(source, include_paths=True)
    if sys.argv[4:] == ["skip-written"]:
        done = written_keys(out)
        keep = PreprocessImages(profile, root=source)
        images = images.filter(lambda row: keep.key(row["path"]) not in done)
    samples = images.map_batches(
        PreprocessImages,
        fn_constructor_kwargs={"profile": profile, "root": source},
        compute=ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,  # two actors on one CPU: the other reads and writes
        batch_size=4,
    )
    samples.write_datasink(ShardDatasink(out))
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True)
    addresses = sorted(
        {line.split()[3].rsplit(":", 1)[0] for line in listening.stdout.splitlines()}
    )
    print(json.dumps({"listening": addresses}))
    ray.shutdown()


if __name__ == "__main__":
    main()
