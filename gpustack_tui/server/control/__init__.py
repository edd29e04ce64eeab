"""The control loop: the reconciler makes the workers run what the stored deployments ask for.

`reconciler` runs the passes; `lifecycle` holds the pure restart and rescheduling rules;
`model_facts` and `placement` place a pending instance; `downloads` fetches hub models on the
workers; `starter` and `node_start` start an instance's workloads; `health` says when it is ready.
"""
