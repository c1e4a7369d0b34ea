"""Small helpers with no knowledge of the network or the dataset."""
