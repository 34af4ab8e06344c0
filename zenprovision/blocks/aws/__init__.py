"""AWS building blocks: network, S3 artifact store, ECR registry, EKS cluster, IRSA role."""
