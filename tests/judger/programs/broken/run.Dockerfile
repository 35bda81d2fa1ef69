FROM judger-test/busybox:1
RUN exit 7
CMD ["sh", "/app/main.sh"]
