-- Daily trips report over trips-etl's curated Parquet output.
-- ${curated} is given as an argument (curated=PATH) by the job.
CREATE OR REPLACE TEMPORARY VIEW daily
USING parquet
OPTIONS (path '${curated}');

SELECT zone,
       SUM(trips)                        AS trips,
       ROUND(SUM(fare_total), 2)         AS fares,
       ROUND(AVG(distance_avg_km), 2)    AS avg_km
FROM daily
GROUP BY zone
ORDER BY trips DESC;
