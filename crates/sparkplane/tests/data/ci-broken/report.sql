SELECT zone, SUM(fares) AS total
FROM trips
GROUP BY zone;

SELECT zone FROM trips WHERE;
