"""Model servers: where ``deploy_model`` puts models and clients query them."""
