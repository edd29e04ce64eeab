"""Placement: where one replica of a deployment goes, as GPUStack places it. Pure.

`request` turns a spec (and the estimate) into a `Request`; `snapshot` the stored workers and
instances into the cluster it sees; `schedule` filters, lists `candidates` and picks by
`scoring`; `scale_down` orders removals; `dry_run`, `report` and `cluster_file` serve `plan`.
"""
