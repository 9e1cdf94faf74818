"""Fleet telemetry: events to an MQTT broker through a durable store-and-forward outbox.

``outbox`` (SQLite queue) · ``publisher`` (background thread owning the paho client) · ``sink``
(the frame loop's side: enqueue only) · ``consumer`` (the ``edge-monitor-fleet`` command) ·
``url`` (broker URLs and topic names). paho-mqtt (the ``fleet`` extra) is imported only when used.
"""
