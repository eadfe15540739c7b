"""Application Auto Scaling in the lab: RegisterScalableTarget reaches the service that owns the target."""
