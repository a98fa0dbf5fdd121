"""kombu: broker topology, the outbox relay, delivery workers and the delivery sweeper."""
