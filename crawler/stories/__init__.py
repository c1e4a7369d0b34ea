"""Stories: one id for every copy of one story across the network (no Scrapy here).

A story is what an analyst counts once: a wire story the network prints on three sites, with
another headline on one, its tail cut on another, its quotes curly on the third. Copies are
found by their text:

* :mod:`crawler.stories.text`: the normalised words of the text and their shingles (runs of
  :data:`~crawler.stories.text.SHINGLE_WORDS` words);
* :mod:`crawler.stories.signature`: a MinHash signature of the shingles (rensa), computed in
  the extraction workers, and the similarity of two signatures;
* :mod:`crawler.stories.index`: the LSH index over a small key-value protocol
  (:class:`~crawler.stories.index.BandStore`), and :class:`~crawler.stories.index.StoryIndex`,
  which gives each article its story: the story of the closest earlier copy published within
  the window and similar enough, else a story of its own;
* :mod:`crawler.stories.sqlite`: the index in the incremental state file; the Redis one is
  :mod:`crawler.distributed.stories`.
"""
