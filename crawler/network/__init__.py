"""What the crawl knows of the network: the site registry, URL shapes and keys, feeds,
and the hosts a request may go to."""
