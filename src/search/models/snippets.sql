SELECT u.ord, ts_headline('simple', translate(u.text, chr(2) || chr(3) || chr(4) || '<', '   ' || chr(4)),
      websearch_to_tsquery('simple', $1),
      'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', ' ||
      CASE WHEN char_length(u.text) <= 240 THEN 'HighlightAll=true'
           ELSE 'MaxWords=30, MinWords=12, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "' END)
      AS snippet
  FROM unnest($2::text[]) WITH ORDINALITY AS u (text, ord)
