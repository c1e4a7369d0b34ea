"""What the crawl knows of the network itself: which hosts a request may go to."""
