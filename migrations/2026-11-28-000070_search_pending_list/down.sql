ALTER INDEX comments_search_idx RESET (gin_pending_list_limit);
