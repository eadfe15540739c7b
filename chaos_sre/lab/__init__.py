"""The local lab: moto in server mode plus a simulated 3-AZ web tier behind a load balancer."""
