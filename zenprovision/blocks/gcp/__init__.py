"""GCP building blocks: network, GCS artifact store, Artifact Registry, GKE, Workload Identity."""
